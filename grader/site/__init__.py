"""Building the course's website: launch links (``launch``) and the in-browser exercises (``lite``)."""
