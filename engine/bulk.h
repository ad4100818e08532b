#ifndef X_bulk_H
#define X_bulk_H
#endif
