"""SageMaker in the local cloud: the runtime endpoint (hosting) and the pipeline executor."""
