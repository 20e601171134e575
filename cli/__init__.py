"""The `zkmargin` command line (click)."""
