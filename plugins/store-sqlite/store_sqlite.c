void *scimsync_plugin_entry(void); void *scimsync_plugin_entry(void) { return 0; }
