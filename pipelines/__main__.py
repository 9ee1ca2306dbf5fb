"""`python -m pipelines ...`: the MLOps engineer's command line."""

from pipelines.cli import main

if __name__ == "__main__":
    main()
