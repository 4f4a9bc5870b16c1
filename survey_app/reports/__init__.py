"""Reports: SVG charts shared with the web pages, and the PDF reports built on them.

`charts` (pure SVG), `pdf` (the one WeasyPrint renderer: fonts, PDF/A-2a, metadata), `wording` and
`plain_words` (a report's words in its own language), the view models `counsellor`, `score_table`,
`client_report` and `session_record`, `documents` (from the database to HTML and PDF) and `batch`
(many reports, one ZIP).
"""
