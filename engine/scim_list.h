#ifndef X_scim_list_H
#define X_scim_list_H
#endif
