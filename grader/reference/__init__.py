"""Reference implementations, one module per chapter. Instructor-only: never shipped to students."""
