"""`python -m copilot ...`: the same as the `copilot` console script."""

from copilot.cli import main

if __name__ == "__main__":
    main()
