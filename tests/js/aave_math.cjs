// Health factors from @aave/math-utils, computed from raw balances with the package's own
// functions: per-reserve values (getMarketReferenceCurrencyAndUsdBalance), aggregation
// (calculateUserReserveTotals) and calculateHealthFactorFromBalances.
// argv: <node_modules> <in.json>; in.json: {"positions": [[{balance, price, decimals, lt, kind}]],
// "direct": [[collateral, borrow, lt]]}; prints {"positions": [hf], "direct": [hf]} as strings.
const path = require("path");
const fs = require("fs");

const [nodeModules, inPath] = process.argv.slice(2);
const mu = require(path.join(nodeModules, "@aave", "math-utils"));
// not re-exported at the top level; the same function formatUserSummary uses
const { calculateUserReserveTotals } = require(
    path.join(nodeModules, "@aave", "math-utils", "dist", "cjs", "formatters", "user", "calculate-user-reserve-totals"));
const input = JSON.parse(fs.readFileSync(inPath, "utf8"));

function healthFactor(reserves) {
    const userReserves = reserves.map((r) => {
        const { marketReferenceCurrencyBalance } = mu.getMarketReferenceCurrencyAndUsdBalance({
            balance: r.balance,
            priceInMarketReferenceCurrency: r.price,
            marketReferenceCurrencyDecimals: 8,
            decimals: r.decimals,
            marketReferencePriceInUsdNormalized: 1,
        });
        const collateral = r.kind === "collateral";
        return {
            underlyingBalanceMarketReferenceCurrency: collateral ? marketReferenceCurrencyBalance.toString() : "0",
            variableBorrowsMarketReferenceCurrency: collateral ? "0" : marketReferenceCurrencyBalance.toString(),
            userReserve: {
                usageAsCollateralEnabledOnUser: collateral,
                reserve: { eModes: [], reserveLiquidationThreshold: String(r.lt), baseLTVasCollateral: String(r.lt), debtCeiling: "0" },
            },
        };
    });
    const t = calculateUserReserveTotals({ userReserves, userEmodeCategoryId: 0 });
    return mu.calculateHealthFactorFromBalances({
        collateralBalanceMarketReferenceCurrency: t.totalCollateralMarketReferenceCurrency,
        borrowBalanceMarketReferenceCurrency: t.totalBorrowsMarketReferenceCurrency,
        currentLiquidationThreshold: t.currentLiquidationThreshold,
    }).toString(10);
}

const out = {
    positions: input.positions.map(healthFactor),
    direct: input.direct.map(([c, b, lt]) => mu.calculateHealthFactorFromBalances({
        collateralBalanceMarketReferenceCurrency: c,
        borrowBalanceMarketReferenceCurrency: b,
        currentLiquidationThreshold: lt,
    }).toString(10)),
};
process.stdout.write(JSON.stringify(out) + "\n");
