"""Building the course's website: launch links (``launch``), the in-browser exercises (``lite``) and
the instructor guide's term plans, measured from the material (``plan``)."""
