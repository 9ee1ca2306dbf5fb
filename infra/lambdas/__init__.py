"""Lambda handlers. This folder is the functions' code asset: each module is self-contained (stdlib and
boto3, which the Python runtime provides) and exposes ``handle(event, client, env)`` for in-process
callers (the local executor, tests) and ``lambda_handler(event, context)`` for the Lambda runtime.
"""

# purpose (settings.FUNCTION_PURPOSES) -> module implementing it
HANDLERS = {"deploy": "infra.lambdas.deploy", "retrain-guard": "infra.lambdas.retrain_guard"}
