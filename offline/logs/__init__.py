"""Botify's event logs as the offline tools read them: which files (rotation order, one folder
per replica), their lines into one table with every unusable line counted (whole, or in pieces
of bounded size partitioned by user), listening sessions, the log's own loss records, the
compacted Parquet form of a log (`botify logs compact`), and the one exception type for bad
input."""
