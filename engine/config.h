#ifndef X_config_H
#define X_config_H
#endif
