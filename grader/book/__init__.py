"""What the book's hidden cells use, so that the pages show only the code students learn from.

``results``: the stored runs in ``book/results/`` (JSON lines), the commands that made them,
and Markdown tables built from them.
"""
