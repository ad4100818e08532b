#ifndef X_strutil_H
#define X_strutil_H
#endif
