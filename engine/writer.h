#ifndef X_writer_H
#define X_writer_H
#endif
