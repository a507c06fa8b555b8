//! The actions API: capability registry, enforcement pipeline and connectors.
