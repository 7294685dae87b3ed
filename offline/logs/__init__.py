"""Botify's event logs as the offline tools read them: which files (rotation order, one folder
per replica), their lines into one table with every unusable line counted, listening sessions,
and the one exception type for bad input."""
