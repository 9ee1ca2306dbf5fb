"""AWS CDK v2 app: the project's stacks, one module per concern (see docs/infrastructure.md)."""
