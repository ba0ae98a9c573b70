"""Building the course's website: launch links (``launch``), the in-browser exercises
(``lite``), the book's figure style and the record of its text sizes (``figures``), and the
PDF edition (``pdf``)."""
