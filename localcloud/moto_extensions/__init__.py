"""What moto lacks and the local cloud needs, added to moto's services in the open.

Each module patches one service (process-wide, so it holds for the in-process ``mock_aws`` and for
the moto server the emulator runs) and says which moto version lacks what. The emulator
(:mod:`localcloud.account`) installs them when it starts; ``cloudwatch_metrics`` is installed by the
alarm evaluator (:mod:`localcloud.cloudwatch`), whose queries rely on it.
"""
