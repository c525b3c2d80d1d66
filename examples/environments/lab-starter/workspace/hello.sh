#!/bin/sh
# An example script to edit.
echo "Hello, $(id -un)! You are in $(pwd) on $(hostname)."
