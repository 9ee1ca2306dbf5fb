"""SageMaker in the local cloud: hosting (control plane patches and the runtime endpoint) and the pipeline executor."""
