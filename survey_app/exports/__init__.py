"""Export writers: CSV, SPSS and Stata, Parquet and FHIR, each streaming rows to a file as they come.

Writers know nothing about the database: they take the variables of a table (`Variable`) and an iterator of
row tuples, write progressively and return what they wrote (`WriteResult`).
"""
