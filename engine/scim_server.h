#ifndef X_scim_server_H
#define X_scim_server_H
#endif
