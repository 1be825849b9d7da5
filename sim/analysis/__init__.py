"""What is measured: pure functions from recorded tables to KPIs, statistics, verdicts in words, and
queueing theory for checks."""
