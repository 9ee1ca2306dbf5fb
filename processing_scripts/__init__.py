"""Code that runs inside SageMaker jobs (processing, monitoring, inference).

Nothing here imports the `sagemaker` SDK, the CLI or the CDK: the package is copied into the
project's container image as it is, and the same files run unchanged on a laptop, in tests and in
the local executor. The pipeline definitions import the contract constants from here, so the paths a
step declares and the paths its script reads are written once.
"""
