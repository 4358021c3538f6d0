"""Analysis of harness runs: loading, statistics, plots and reports."""
