//! Compose: load a compose project exactly as Docker Compose does, with every problem located.
