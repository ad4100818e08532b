#include "config.h"

typedef int scimsync_stub_unit;
