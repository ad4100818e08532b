#ifndef X_scim_resource_H
#define X_scim_resource_H
#endif
