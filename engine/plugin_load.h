#ifndef X_plugin_load_H
#define X_plugin_load_H
#endif
