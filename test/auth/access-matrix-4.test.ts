// Part 4 of the access-control matrix (test/auth/access-matrix.ts): the credentials of its group on every route.
import { defineMatrix } from "./access-matrix";

defineMatrix(3);
