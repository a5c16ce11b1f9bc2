"""Files people write: scenarios and the project's own data files, read and checked."""
