#!/usr/bin/env python3
"""CDK entry point: `cdk synth -c env=prod` or `python app.py` (MLOPS_ENV) write cdk.out/ offline."""

from infra.app_builder import create_app

if __name__ == "__main__":
    app, _ = create_app()
    app.synth()
