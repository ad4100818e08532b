/* A shared object without the entry symbol: rejected. */
#include "fixture.h"

int scimsync_fixture_not_a_plugin(void);

int scimsync_fixture_not_a_plugin(void)
{
	return 0;
}
