"""The SageMaker Pipelines executor: runs a pipeline definition JSON step by step against the emulator."""
