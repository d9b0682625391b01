//! Instances, sync configurations and their auto-sync settings.
