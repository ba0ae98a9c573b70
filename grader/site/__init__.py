"""Building the course's website: launch links (``launch``), the in-browser exercises
(``lite``), the instructor guide's term plans measured from the material (``plan``), the
book's figure style and the record of its text sizes (``figures``), the PDF edition (``pdf``)
and the link to the other language's edition (``language``)."""
