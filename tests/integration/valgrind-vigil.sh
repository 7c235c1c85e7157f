#!/bin/sh
# Runs vigil under valgrind memcheck: any invalid access or definite leak
# makes it exit 99, which the integration tests see as a failure.  Used by
# build.sh (VIGIL_VALGRIND=1) for the tests of the core.
exec valgrind -q --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    --track-fds=no "$VIGIL_REAL" "$@"
