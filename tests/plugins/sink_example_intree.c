/* sink_example_intree.c - the example sink (contrib/sink-example), built
 * in the tree for the outbox tests. Compiled from here so its objects stay
 * under tests/plugins/ and never land beside the example in contrib/. */
#include "../../contrib/sink-example/sink_example.c"
