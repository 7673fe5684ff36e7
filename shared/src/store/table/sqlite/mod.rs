//! SQLite engine (being written)
