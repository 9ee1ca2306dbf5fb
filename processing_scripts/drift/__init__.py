"""A drift-monitoring engine that reads and writes SageMaker Model Monitor's file formats.

Why it exists: Model Monitor is closed to new customers, and AWS's advice is a scheduled processing
job running an open-source drift check that publishes CloudWatch metrics. This package is that
check. It writes ``statistics.json``, ``constraints.json`` and ``constraint_violations.json`` in
Model Monitor's shapes (so existing tooling and baselines keep working) and uses the same math as
Model Monitor's analyzer (Deequ's KLL sketches and L-infinity distances), computed column by column
with pyarrow and numpy over streamed record batches so memory stays bounded as data grows.

Entry points: :mod:`.engine` (``build_baseline``, ``run_check``), used by the container scripts
``processing_scripts.baseline`` / ``processing_scripts.monitor`` and by ``python -m pipelines monitor``.
Modules import only what they need: matplotlib loads only when a report is rendered, boto3 only when
an ``s3://`` location is read.
"""
