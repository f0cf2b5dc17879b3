"""The plugin machinery: the manager, on/off state, plugin translations, UI contributions and core's built-in plugins."""
