#ifndef X_log_H
#define X_log_H
#endif
