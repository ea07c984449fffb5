#!/bin/sh
# Entry point of the Ember container image. Modelled on the official Redis
# image's: what `docker run IMAGE [ARGS...]` runs.
#
#   (nothing)                    ember-server /etc/ember/ember.conf
#   --name value ...             ember-server /etc/ember/ember.conf --name value ...
#   /path/to/my.conf [flags]     ember-server /path/to/my.conf [flags]
#   ember-server [--flags]       ember-server /etc/ember/ember.conf [--flags]
#   ember-server /my.conf ...    as given
#   anything else (sh, id ...)   run as given
#
# `exec` replaces this shell, so ember-server gets the container's signals
# (SIGTERM from `docker stop`) directly.
set -e

conf=/etc/ember/ember.conf

case "${1:-}" in
    -v | --version | -h | --help) set -- ember-server "$@" ;;
    -*) set -- ember-server "$conf" "$@" ;;
    *.conf) set -- ember-server "$@" ;;
    ember-server)
        shift
        case "${1:-}" in
            -v | --version | -h | --help) set -- ember-server "$@" ;;
            "" | -*) set -- ember-server "$conf" "$@" ;;
            *) set -- ember-server "$@" ;;
        esac
        ;;
esac

exec "$@"
