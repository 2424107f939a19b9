// eslint.config.mjs - the JavaScript lint (eslint 9, flat config) for the
// web player and the node test and build scripts; scripts/test.sh runs
// it after the C analysis. eslint's recommended rules only, plus the few
// that catch real mistakes in this code base; formatting is not linted.
import js from '@eslint/js';
import globals from 'globals';

export default [
    { ignores: ['player-web/dist/**', 'player-web/.dist.tmp/**', 'build*/**',
                'node_modules/**'] },
    js.configs.recommended,
    {
        rules: {
            'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
            eqeqeq: ['error', 'smart'],
            'no-var': 'error',
        },
    },
    {
        // The player: ES modules in the browser (STYLE.md §9).
        files: ['player-web/src/**/*.js', 'player-web/legacy/**/*.js',
                'player-web/wall/**/*.js'],
        languageOptions: {
            ecmaVersion: 2022,
            sourceType: 'module',
            globals: { ...globals.browser },
        },
    },
    {
        // Node scripts: tests, benchmarks and tools. Functions they hand to
        // page.evaluate() run in the browser, so its globals are known.
        files: ['tests/**/*.mjs', 'player-web/tools/**/*.mjs',
                'bench/**/*.mjs'],
        languageOptions: {
            ecmaVersion: 2022,
            sourceType: 'module',
            globals: { ...globals.node, ...globals.browser },
        },
    },
];
