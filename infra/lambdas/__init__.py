"""Lambda handlers. Each module uses only the stdlib, boto3 (both from the Python runtime) and the
project files ``infra.functions.SHARED_MODULES`` lists, which the functions' code asset carries next
to the handlers. Each exposes ``handle(event, client, env)`` for in-process callers (the local
executor, tests) and ``lambda_handler(event, context)`` for the Lambda runtime.
"""

# purpose (settings.FUNCTION_PURPOSES) -> module implementing it
HANDLERS = {"deploy": "infra.lambdas.deploy", "retrain-guard": "infra.lambdas.retrain_guard"}
