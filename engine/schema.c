/* placeholder */ typedef int scimsync_placeholder_t;
