//! Static checks: the compose security policy and the `compose.*` checks of the grading spec.
