"""Wasmtime's async C API, for host calls that suspend the WebAssembly program without a thread.

The wasmtime wheel's bundled library exports it (``wasmtime/async.h`` in Wasmtime's
``crates/c-api/include``); wasmtime-py does not wrap it, so it is bound here with ctypes, for the
pinned wasmtime version (pyproject.toml). Running ``_start`` gives a *call future*: each
:func:`poll` runs the program until it is done or until an async host function's continuation
says "not yet" (the program is then suspended on its own stack, at that host call);
:func:`delete` drops a suspended call, which is how a simulated node is killed.
"""

from __future__ import annotations

import ctypes
from ctypes import CFUNCTYPE, POINTER, c_bool, c_char_p, c_size_t, c_void_p
from typing import Any

from wasmtime import _ffi as ffi

__all__ = [
    "NO_FINALIZER",
    "AsyncCallback",
    "Continuation",
    "ContinuationCallback",
    "call",
    "define",
    "delete",
    "instantiate",
    "poll",
]

Finalizer = CFUNCTYPE(None, c_void_p)
NO_FINALIZER = Finalizer()
ContinuationCallback = CFUNCTYPE(c_bool, c_void_p)


class Continuation(ctypes.Structure):
    """``wasmtime_async_continuation_t``: polled until its callback returns true."""

    _fields_ = [("callback", ContinuationCallback), ("env", c_void_p), ("finalizer", Finalizer)]


Val = ffi.wasmtime_val_t
TrapOut = POINTER(POINTER(ffi.wasm_trap_t))
ErrorOut = POINTER(POINTER(ffi.wasmtime_error_t))
Future = POINTER(ffi.wasmtime_call_future_t)

#: ``wasmtime_func_async_callback_t``
AsyncCallback = CFUNCTYPE(
    None,
    c_void_p,
    POINTER(ffi.wasmtime_caller_t),
    POINTER(Val),
    c_size_t,
    POINTER(Val),
    c_size_t,
    TrapOut,
    POINTER(Continuation),
)


def _bind(name: str, restype: Any, *argtypes: Any) -> Any:
    fn = getattr(ffi.dll, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


define = _bind(
    "wasmtime_linker_define_async_func",
    POINTER(ffi.wasmtime_error_t),
    POINTER(ffi.wasmtime_linker_t),
    c_char_p,
    c_size_t,
    c_char_p,
    c_size_t,
    POINTER(ffi.wasm_functype_t),
    AsyncCallback,
    c_void_p,
    Finalizer,
)
instantiate = _bind(
    "wasmtime_linker_instantiate_async",
    Future,
    POINTER(ffi.wasmtime_linker_t),
    POINTER(ffi.wasmtime_context_t),
    POINTER(ffi.wasmtime_module_t),
    POINTER(ffi.wasmtime_instance_t),
    TrapOut,
    ErrorOut,
)
call = _bind(
    "wasmtime_func_call_async",
    Future,
    POINTER(ffi.wasmtime_context_t),
    POINTER(ffi.wasmtime_func_t),
    POINTER(Val),
    c_size_t,
    POINTER(Val),
    c_size_t,
    TrapOut,
    ErrorOut,
)
poll = _bind("wasmtime_call_future_poll", c_bool, Future)
delete = _bind("wasmtime_call_future_delete", None, Future)
