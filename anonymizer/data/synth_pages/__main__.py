"""``python -m anonymizer.data.synth_pages n=20 out=DIR`` (see :mod:`anonymizer.data.synth_pages.cli`)."""

from anonymizer.data.synth_pages.cli import main

if __name__ == "__main__":
    main()
